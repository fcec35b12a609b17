// llama.cpp side of bench/compare_llama_cpp.sh, through node-llama-cpp's prebuilt CPU libraries.
//
//   node compare_llama_cpp.mjs bench --dir D -m model.gguf [-t 2] [-p 512] [-n 128] [-r 3]
//       llama-bench-like pp/tg rows as a JSON array on stdout (same field names as `mixcl bench -o json`).
//   node compare_llama_cpp.mjs agree --dir D -m model.gguf --mixcl BIN --tokens 1,2,3 [-n 32] [-t 2] [--logits-out F]
//       greedy tokens from both engines on the same prompt ids, plus a teacher-forced logits comparison.
//   node compare_llama_cpp.mjs table --results FOLDER
//       the side-by-side markdown table of the bench runs saved in FOLDER by compare_llama_cpp.sh.
//
// D is the folder node-llama-cpp was installed into (npm install node-llama-cpp @node-llama-cpp/linux-x64).
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

// Parses "--key value" / "-k value" pairs after the mode word.
function parse_args(argv) {
  const args = {mode: argv[0]};
  for (let i = 1; i < argv.length; i += 2) {
    if (!argv[i].startsWith("-") || i + 1 >= argv.length) die(`bad argument '${argv[i]}' (expected -key value pairs)`);
    args[argv[i].replace(/^-+/, "")] = argv[i + 1];
  }
  return args;
}

function die(msg) {
  process.stderr.write(`compare_llama_cpp.mjs: error: ${msg}\n`);
  process.exit(1);
}

// Loads node-llama-cpp from the install folder, CPU only, never building or downloading anything.
async function load_llama(dir) {
  const entry = path.join(dir, "node_modules", "node-llama-cpp", "dist", "index.js");
  if (!fs.existsSync(entry)) die(`${entry} not found: install with bench/compare_llama_cpp.sh ${dir} (npm install node-llama-cpp)`);
  const lib = await import(entry);
  const llama = await lib.getLlama({build: "never", gpu: false, usePrebuiltBinaries: true, skipDownload: true,
                                    logLevel: lib.LlamaLogLevel.warn, progressLogs: false,
                                    logger: (level, msg) => process.stderr.write(`[llama.cpp ${level}] ${msg}\n`)});
  return {lib, llama};
}

// Loads the model on the CPU with mmap, turning llama.cpp's generic failure into one that names the file.
async function load_model(llama, model_path) {
  if (!fs.existsSync(model_path)) die(`model ${model_path} not found`);
  try {
    return await llama.loadModel({modelPath: model_path, gpuLayers: 0, useMmap: true});
  } catch (e) {
    die(`llama.cpp could not load ${model_path}: ${e.message} (the reason is in the llama_model_load lines above)`);
  }
}

// Deterministic token ids in [0, n_vocab), so every run feeds the same prompt (xorshift32).
function random_tokens(n, n_vocab, seed) {
  let s = seed >>> 0 || 1;
  const out = [];
  for (let i = 0; i < n; ++i) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out.push(s % n_vocab);
  }
  return out;
}

function mean_sd(xs) {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.length > 1 ? xs.reduce((a, b) => a + (b - m) * (b - m), 0) / (xs.length - 1) : 0;
  return [m, Math.sqrt(v)];
}

// One llama-bench-style row from per-repetition seconds.
function row(common, test, n_prompt, n_gen, secs) {
  const tokens = n_prompt + n_gen;
  const ts = secs.map((s) => tokens / s);
  const [avg_ns, sd_ns] = mean_sd(secs.map((s) => s * 1e9));
  const [avg_ts, sd_ts] = mean_sd(ts);
  return {...common, test, n_prompt, n_gen, avg_ns: Math.round(avg_ns), stddev_ns: Math.round(sd_ns), avg_ts,
          stddev_ts: sd_ts, samples_ns: secs.map((s) => Math.round(s * 1e9)), samples_ts: ts,
          test_time: new Date().toISOString()};
}

// Prefill: one sequence of p random ids from an empty cache; decode: n greedy single-token steps after BOS.
async function bench(args) {
  const threads = Number(args.t ?? 2), n_prompt = Number(args.p ?? 512), n_gen = Number(args.n ?? 128);
  const reps = Number(args.r ?? 3);
  const {llama} = await load_llama(args.dir);
  const t_load = performance.now();
  const model = await load_model(llama, args.m);
  const load_s = (performance.now() - t_load) / 1e3;
  const ctx = await model.createContext({contextSize: Math.max(n_prompt, n_gen + 1) + 64, batchSize: Math.max(n_prompt, 1),
                                        threads, sequences: 1});
  const seq = ctx.getSequence();
  const n_vocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
  const bos = model.tokens.bos ?? 0;
  const prompt = random_tokens(n_prompt, n_vocab, 1234);

  const run_pp = async () => {
    await seq.clearHistory();
    const t0 = performance.now();
    await seq.evaluateWithoutGeneratingNewTokens(prompt);
    return (performance.now() - t0) / 1e3;
  };
  // Each yielded token is one llama_decode of one token plus greedy sampling, as llama-bench's tg (which skips sampling).
  const run_tg = async () => {
    await seq.clearHistory();
    const t0 = performance.now();
    let k = 0;
    for await (const tok of seq.evaluate([bos], {temperature: 0, yieldEogToken: true})) {
      void tok;
      if (++k >= n_gen) break;
    }
    if (k < n_gen) die(`llama.cpp stopped after ${k} of ${n_gen} generated tokens`);
    return (performance.now() - t0) / 1e3;
  };

  const common = {engine: "llama.cpp", build_commit: `node-llama-cpp ${lib_version(args.dir)}`, cpu_info: os.cpus()[0].model,
                  backends: "CPU", model_filename: path.resolve(args.m), model_size: model.size,
                  model_n_params: model.fileInsights?.totalParameters ?? null, n_threads: threads,
                  n_batch: Math.max(n_prompt, 1), type_k: "f16", type_v: "f16", load_s,
                  system_info: llama.systemInfo};
  const rows = [];
  if (n_prompt > 0) {
    await run_pp();  // warm-up, unmeasured (as llama-bench)
    const secs = [];
    for (let i = 0; i < reps; ++i) secs.push(await run_pp());
    rows.push(row(common, `pp${n_prompt}`, n_prompt, 0, secs));
  }
  if (n_gen > 0) {
    await run_tg();
    const secs = [];
    for (let i = 0; i < reps; ++i) secs.push(await run_tg());
    rows.push(row(common, `tg${n_gen}`, 0, n_gen, secs));
  }
  process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
  await ctx.dispose();
  await model.dispose();
}

function lib_version(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "node_modules", "node-llama-cpp", "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
}

function argmax(row) {
  let best = 0;
  for (let i = 1; i < row.length; ++i) if (row[i] > row[best]) best = i;
  return best;
}

// Top-1 minus top-2 logit: how close a position is to a tie.
function margin(row) {
  let a = -Infinity, b = -Infinity;
  for (const v of row) {
    if (v > a) { b = a; a = v; } else if (v > b) b = v;
  }
  return a - b;
}

// Runs `mixcl eval` on the ids and returns its logits as one Float32Array row per position.
function mixcl_logits(bin, model, tokens, threads, n_vocab, tmp) {
  const out = path.join(tmp, "mixcl_logits.f32");
  const r = spawnSync(bin, ["eval", "-m", model, "--tokens", tokens.join(","), "--logits-out", out, "--threads", String(threads),
                            "-c", String(tokens.length + 8)], {encoding: "utf8"});
  if (r.status !== 0) die(`mixcl eval failed (status ${r.status}): ${r.stderr}`);
  const buf = fs.readFileSync(out);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  if (all.length !== tokens.length * n_vocab) die(`mixcl wrote ${all.length} floats, expected ${tokens.length} x ${n_vocab}`);
  const rows = [];
  for (let i = 0; i < tokens.length; ++i) rows.push(all.subarray(i * n_vocab, (i + 1) * n_vocab));
  return rows;
}

// Greedy generation in both engines from the same ids, then both engines' logits on llama.cpp's sequence.
async function agree(args) {
  const threads = Number(args.t ?? 2), n_gen = Number(args.n ?? 32);
  if (!args.tokens) die("agree needs --tokens 1,2,3");
  if (!args.mixcl) die("agree needs --mixcl path/to/mixcl");
  const prompt = args.tokens.split(",").map(Number);
  const {llama} = await load_llama(args.dir);
  const model = await load_model(llama, args.m);
  const n_vocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
  const ctx = await model.createContext({contextSize: prompt.length + n_gen + 64, batchSize: 512, threads});
  const seq = ctx.getSequence();

  const gen_l = [];
  for await (const tok of seq.evaluate(prompt, {temperature: 0, yieldEogToken: true})) {
    gen_l.push(tok);
    if (gen_l.length >= n_gen) break;
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cmp-llama-"));
  const gen_m = [];
  for (let i = 0; i < n_gen; ++i) {
    const rows = mixcl_logits(args.mixcl, args.m, [...prompt, ...gen_m], threads, n_vocab, tmp);
    gen_m.push(argmax(rows[rows.length - 1]));
  }

  // Teacher-forced: both engines read prompt + llama.cpp's tokens; compare the next-token logits at every position.
  const forced = [...prompt, ...gen_l.slice(0, n_gen - 1)];
  await seq.clearHistory();
  const items = forced.map((t) => [t, {generateNext: {logits: true}}]);
  const res = await seq.controlledEvaluate(items);
  const rows_m = mixcl_logits(args.mixcl, args.m, forced, threads, n_vocab, tmp);
  fs.rmSync(tmp, {recursive: true, force: true});

  // --logits-out: llama.cpp's teacher-forced logits, float32 [position][vocab] like `mixcl eval --logits-out`.
  const llama_rows = args["logits-out"] ? new Float32Array(forced.length * n_vocab) : null;
  let forced_agree = 0, max_rel = 0;
  const mismatches = [], rel_by_position = [];
  for (let i = 0; i < forced.length; ++i) {
    const lmap = res[i]?.next?.logits;
    if (!lmap || lmap.size !== n_vocab) die(`llama.cpp gave ${lmap ? lmap.size : 0} logits at position ${i}, expected ${n_vocab}`);
    const rl = new Float32Array(n_vocab);
    for (const [tok, v] of lmap) rl[tok] = v;
    if (llama_rows) llama_rows.set(rl, i * n_vocab);
    const rm = rows_m[i];
    let lo = Infinity, hi = -Infinity, d = 0;
    for (let v = 0; v < n_vocab; ++v) {
      lo = Math.min(lo, rl[v]); hi = Math.max(hi, rl[v]);
      d = Math.max(d, Math.abs(rl[v] - rm[v]));
    }
    max_rel = Math.max(max_rel, d / (hi - lo));
    rel_by_position.push(Number((d / (hi - lo)).toPrecision(3)));
    const al = argmax(rl), am = argmax(rm);
    if (al === am) ++forced_agree;
    else mismatches.push({position: i, llama: al, mixcl: am, llama_margin: margin(rl), mixcl_margin: margin(rm)});
  }

  if (llama_rows) fs.writeFileSync(args["logits-out"], Buffer.from(llama_rows.buffer));
  let same_prefix = 0;
  while (same_prefix < n_gen && gen_l[same_prefix] === gen_m[same_prefix]) ++same_prefix;
  const positions_equal = gen_l.filter((t, i) => t === gen_m[i]).length;
  const report = {model: path.resolve(args.m), prompt, forced_tokens: forced, n_gen, llama_tokens: gen_l, mixcl_tokens: gen_m,
                  identical: same_prefix === n_gen, positions_equal, first_mismatch: same_prefix === n_gen ? null : same_prefix,
                  teacher_forced: {positions: forced.length, argmax_equal: forced_agree,
                                   max_abs_logit_diff_over_range: max_rel,
                                   diff_over_range_by_position: rel_by_position, mismatches}};
  process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  await ctx.dispose();
  await model.dispose();
}

// Side-by-side table of every run in a results folder: files NN_<engine>_<variant>.json with a .load (uptime) next to each.
function table(args) {
  const files = fs.readdirSync(args.results).filter((f) => /^\d+_.*\.json$/.test(f)).sort();
  if (files.length === 0) die(`no results in ${args.results}`);
  const runs = files.flatMap((f) => {
    const text = fs.readFileSync(path.join(args.results, f), "utf8");
    if (text.trim() === "") {
      process.stderr.write(`compare_llama_cpp.mjs: ${f} is empty (a run still going or killed): left out\n`);
      return [];
    }
    let rows;
    try {
      rows = JSON.parse(text);
    } catch (e) {
      die(`${path.join(args.results, f)} is not valid JSON: ${e.message}`);
    }
    const [, round, engine, variant] = f.replace(/\.json$/, "").match(/^(\d+)_([^_]+)_?(.*)$/);
    const load_file = path.join(args.results, f.replace(/\.json$/, ".load"));
    const load = fs.existsSync(load_file) ? (fs.readFileSync(load_file, "utf8").match(/load average: ([\d.]+)/) ?? [])[1] : "?";
    return [{round: Number(round), engine, variant, rows, load}];
  });
  // One bound for every engine: the same file on the same machine reads the same bytes per token.
  const bound_row = runs.flatMap((r) => r.rows).find((x) => x.bound_ts);
  if (!bound_row) die("no mixcl decode row with bound_ts in the results (run mixcl bench with -n > 0)");
  const bound = bound_row.bound_ts;
  const sizes = new Set(runs.flatMap((r) => r.rows.map((x) => x.model_size)));
  const fmt_ts = (x) => (x ? `${x.avg_ts.toFixed(2)} ± ${x.stddev_ts.toFixed(2)}` : "-");
  const lines = [];
  lines.push(`model: ${bound_row.model_filename} (${(bound_row.model_size / 2 ** 30).toFixed(2)} GiB)` +
             (sizes.size > 1 ? `  WARNING: model_size differs between engines: ${[...sizes].join(", ")}` : ""));
  lines.push(`bound: ${(bound_row.bytes_per_token / 2 ** 20).toFixed(0)} MiB of weights per decode token ÷ ` +
             `${bound_row.read_gbps.toFixed(1)} GB/s measured read bandwidth = ${bound.toFixed(2)} t/s (from mixcl's probe figures)`);
  lines.push("");
  // Best sample too: on a shared machine the fastest repetition is the one least slowed by other processes.
  lines.push("| round | engine | weights | load avg | threads | pp t/s | tg t/s | tg % of bound | pp best | tg best | tg best % of bound |");
  lines.push("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  const best = (x) => (x ? Math.max(...x.samples_ts) : null);
  const summary = new Map();
  for (const r of runs) {
    const pp = r.rows.find((x) => x.n_prompt > 0), tg = r.rows.find((x) => x.n_gen > 0);
    const pct = tg ? (100 * tg.avg_ts) / bound : null;
    const key = `${r.engine}|${r.variant}`;
    if (!summary.has(key)) summary.set(key, {pp: [], tg: [], n_threads: (tg ?? pp).n_threads, pp_name: pp?.test, tg_name: tg?.test});
    if (pp) summary.get(key).pp.push(pp.avg_ts);
    if (tg) summary.get(key).tg.push(tg.avg_ts);
    lines.push(`| ${r.round} | ${r.engine} | ${r.variant || "-"} | ${r.load} | ${(tg ?? pp).n_threads} | ${fmt_ts(pp)} | ${fmt_ts(tg)} | ` +
               `${pct === null ? "-" : pct.toFixed(1)} | ${pp ? best(pp).toFixed(2) : "-"} | ${tg ? best(tg).toFixed(2) : "-"} | ` +
               `${tg ? ((100 * best(tg)) / bound).toFixed(1) : "-"} |`);
  }
  lines.push("");
  lines.push("| engine | weights | runs | pp t/s (mean of runs) | tg t/s (mean of runs) | tg % of bound |");
  lines.push("|---|---|---:|---:|---:|---:|");
  const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const [key, s] of summary) {
    const [engine, variant] = key.split("|");
    const tg = s.tg.length ? avg(s.tg) : null, pp = s.pp.length ? avg(s.pp) : null;
    lines.push(`| ${engine} | ${variant || "-"} | ${Math.max(s.tg.length, s.pp.length)} | ${pp === null ? "-" : pp.toFixed(2)} | ` +
               `${tg === null ? "-" : tg.toFixed(2)} | ${tg === null ? "-" : ((100 * tg) / bound).toFixed(1)} |`);
  }
  process.stdout.write(lines.join("\n") + "\n");
}

const args = parse_args(process.argv.slice(2));
if (args.mode === "table") {
  if (!args.results) die("table needs --results FOLDER");
  table(args);
} else {
  if (!args.dir) die("missing --dir (the folder node-llama-cpp is installed in)");
  if (!args.m) die("missing -m model.gguf");
  if (args.mode === "bench") await bench(args);
  else if (args.mode === "agree") await agree(args);
  else die(`unknown mode '${args.mode}' (bench, agree or table)`);
}
