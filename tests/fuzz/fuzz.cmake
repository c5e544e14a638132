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

# The bundle parser and trust decision (tests/fuzz/fuzz_bundle.c): the
# ctest replays tests/fuzz/bundle-seeds/ and runs a fixed number of
# mutations from a fixed seed, like fuzz/engine, in about 20 s (150 000
# runs; 60 000 took 7 s on 2 shared cores).
if(TARGET graft_bundle)
  add_executable(fuzz_bundle ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_bundle.c)
  target_compile_options(fuzz_bundle PRIVATE -fsanitize=fuzzer,address,undefined ${GRAFT_WARNINGS})
  target_link_options(fuzz_bundle PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_bundle PRIVATE graft_bundle)
  # Coverage of the bundle code and of the agent's manifest parser it uses.
  target_compile_options(graft_bundle PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
  target_compile_options(graft_agent PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
  set(fuzz_bundle_work ${CMAKE_BINARY_DIR}/fuzz-bundle-work)
  add_test(NAME fuzz/bundle
           COMMAND bash -c "set -euo pipefail; rm -rf '${fuzz_bundle_work}'; mkdir -p '${fuzz_bundle_work}'; \
'$<TARGET_FILE:fuzz_bundle>' -seed=1 -runs=150000 -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
'${fuzz_bundle_work}' '${CMAKE_SOURCE_DIR}/tests/fuzz/bundle-seeds' 2>&1 | tail -n 5; echo '1 passed, 0 failed'")
  set_tests_properties(fuzz/bundle PROPERTIES LABELS fuzz TIMEOUT 900)
endif()
