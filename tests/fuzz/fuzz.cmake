# The libFuzzer target (clang only): `make fuzz` runs it for as long as asked;
# the ctest below (label fuzz) replays the seed corpus and then runs a fixed
# number of mutations from a fixed seed, so it is repeatable.
add_executable(fuzz_engine ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_engine.c)
target_include_directories(fuzz_engine PRIVATE ${CMAKE_SOURCE_DIR}/src/engine ${CMAKE_SOURCE_DIR}/tests)
target_compile_options(fuzz_engine PRIVATE -fsanitize=fuzzer,address,undefined ${GRAFT_WARNINGS})
target_link_options(fuzz_engine PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(fuzz_engine PRIVATE graft_static m)
# The engine itself is instrumented for coverage too.
target_compile_options(graft_static PRIVATE -fsanitize=fuzzer-no-link,address,undefined)

add_test(NAME fuzz/engine
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/fuzz/run-fixed.sh $<TARGET_FILE:fuzz_engine>
                 ${GRAFT_SPECTEST_DIR} ${CMAKE_BINARY_DIR}/fuzz-work)
set_tests_properties(fuzz/engine PROPERTIES LABELS fuzz TIMEOUT 900)
