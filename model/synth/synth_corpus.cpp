#include "model/synth/synth_corpus.h"

namespace mixcl::synth {

// Original text written for this project; its only job is to give the BPE trainer varied scripts to merge.
std::string_view builtin_corpus() {
  static constexpr std::string_view kText = R"CORPUS(
The quick brown fox jumps over the lazy dog. A mixture of experts sends every token to a few of its many
experts, and a shared expert sees every token. The router scores each expert, keeps the best ones, and the
model adds their outputs together. The attention layer compresses keys and values into a small latent vector,
so the cache stays small even when the context grows to thousands of tokens.
Tokens are pieces of text: a word, part of a word, a space, a digit or a mark. The tokenizer learns which
pairs of bytes appear together most often and merges them, again and again, until the vocabulary is full.
In the morning the weather was cold, but by the afternoon the sun had warmed the stones of the old town.
She said: "We will meet at 10:30 on 2024-05-17, in room 42." He replied, 'I'll be there at 10:45!'
Numbers: 0 1 2 3 4 5 6 7 8 9 10 11 12 100 256 1024 65536 3.14159 2.71828 -1e-6 0x1F 1,000,000.

Der schnelle braune Fuchs springt über den faulen Hund. Die Straßen waren nass, und die Bäume rauschten im
Wind. Größere Modelle brauchen mehr Speicher, aber nicht jede Schicht wird für jedes Wort gebraucht.
Le renard brun rapide saute par-dessus le chien paresseux. Où est la gare ? Il était une fois un château au
bord de la mer ; les enfants jouaient près de l'eau pendant que les mouettes criaient.
El rápido zorro marrón salta sobre el perro perezoso. ¿Dónde está la biblioteca? ¡Qué día tan bonito! La
niña leyó el libro en voz alta y todos escucharon con atención.
Быстрая коричневая лиса прыгает через ленивую собаку. Сегодня хорошая погода, и мы идём гулять в парк.
Модель читает текст по частям и предсказывает следующее слово.
Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο. Καλημέρα, τι κάνεις σήμερα;

敏捷的棕色狐狸跳过了懒狗。今天天气很好，我们去公园散步吧。模型把每个词送给几个专家，再把它们的结果加在一起。
我喜欢读书，也喜欢写程序。北京、上海和广州都是很大的城市。
素早い茶色の狐がのろまな犬を飛び越える。今日はいい天気ですね。カタカナとひらがなと漢字を混ぜて書きます。
東京の駅はとても広いので、よく道に迷います。コンピューターは文字を数字に変えて計算します。
빠른 갈색 여우가 게으른 개를 뛰어넘는다. 오늘은 날씨가 좋아서 산책을 했습니다. 한국어 문장도 조금 넣습니다.
الثعلب البني السريع يقفز فوق الكلب الكسول. مرحبا بكم في المكتبة.

def route(scores, k):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    return order[:k]

for (int i = 0; i < n; ++i) { sum += x[i] * w[i]; }  // dot product
if (error != nullptr) { return -1; } else { return 0; }
{"name": "tiny", "layers": 3, "experts": [0, 1, 2, 3], "ok": true}
The end. The end of the text, the end of the story, and the end of this small corpus.
)CORPUS";
  return kText;
}

}  // namespace mixcl::synth
