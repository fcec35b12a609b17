# Embeds every cl_kernels/*.cl file into a generated C++ source as a name -> source table.
function(mixcl_embed_kernels out_cpp)
  file(GLOB cl_files CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/cl_kernels/*.cl")
  add_custom_command(
    OUTPUT ${out_cpp}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out_cpp} -DSRC_DIR=${PROJECT_SOURCE_DIR}/cl_kernels
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_kernels_run.cmake
    DEPENDS ${cl_files} ${PROJECT_SOURCE_DIR}/cmake/embed_kernels_run.cmake
    COMMENT "Embedding OpenCL kernels")
endfunction()
