# Test registration. Labels: unit, spec, wasi, fault, e2e, fuzz.
# Each C file under tests/unit and tests/fault is one test program (one
# ctest each, its own process, with a timeout). tests/harness.h is the
# shared assertion harness.

function(graft_c_tests dir label)
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/${dir}/*.c)
  foreach(src ${srcs})
    get_filename_component(stem ${src} NAME_WE)
    set(exe ${label}_${stem})
    add_executable(${exe} ${src})
    target_include_directories(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/tests ${CMAKE_SOURCE_DIR}/src/engine)
    target_compile_options(${exe} PRIVATE ${GRAFT_WARNINGS})
    target_compile_definitions(${exe} PRIVATE _GNU_SOURCE
      GRAFT_SPECTEST_DIR="${GRAFT_SPECTEST_DIR}" GRAFT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
    target_link_libraries(${exe} PRIVATE graft_static m)
    if(TARGET graft_wasi)
      target_link_libraries(${exe} PRIVATE graft_wasi)
    endif()
    add_test(NAME ${label}/${stem} COMMAND ${exe})
    set_tests_properties(${label}/${stem} PROPERTIES LABELS ${label} TIMEOUT 300)
  endforeach()
endfunction()

graft_c_tests(unit unit)
# unit/semver tests src/semver, the one version ordering (docs/ota.md).
target_link_libraries(unit_semver PRIVATE graft_semver)

# tests/agent: one program per file, label unit, linked with the agent and
# host API libraries (which bring jansson, sqlite3, libmosquitto, ...).
file(GLOB GRAFT_AGENT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/agent/*.c)
foreach(src ${GRAFT_AGENT_TESTS})
  get_filename_component(stem ${src} NAME_WE)
  add_executable(agent_${stem} ${src})
  target_include_directories(agent_${stem} PRIVATE ${CMAKE_SOURCE_DIR}/tests ${CMAKE_SOURCE_DIR}/src/engine
                             ${CMAKE_SOURCE_DIR}/sdk/c)
  target_compile_options(agent_${stem} PRIVATE ${GRAFT_WARNINGS})
  target_compile_definitions(agent_${stem} PRIVATE _GNU_SOURCE
    GRAFT_SOURCE_DIR="${CMAKE_SOURCE_DIR}" GRAFT_BINARY_DIR="${CMAKE_BINARY_DIR}")
  foreach(lib graft_agent graft_hostapi)
    if(TARGET ${lib})
      target_link_libraries(agent_${stem} PRIVATE ${lib})
    endif()
  endforeach()
  target_link_libraries(agent_${stem} PRIVATE graft_static m)
  add_test(NAME agent/${stem} COMMAND agent_${stem})
  set_tests_properties(agent/${stem} PROPERTIES LABELS unit TIMEOUT 300)
endforeach()

# tests/bundle: the bundle format and trust decisions (src/bundle), one
# program per file, label unit; they generate their keys at run time.
file(GLOB GRAFT_BUNDLE_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/bundle/*.c)
foreach(src ${GRAFT_BUNDLE_TESTS})
  if(NOT TARGET graft_bundle)
    break()
  endif()
  get_filename_component(stem ${src} NAME_WE)
  add_executable(bundle_${stem} ${src})
  target_include_directories(bundle_${stem} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_compile_options(bundle_${stem} PRIVATE ${GRAFT_WARNINGS})
  target_compile_definitions(bundle_${stem} PRIVATE _GNU_SOURCE)
  target_link_libraries(bundle_${stem} PRIVATE graft_bundle)
  add_test(NAME bundle/${stem} COMMAND bundle_${stem})
  set_tests_properties(bundle/${stem} PROPERTIES LABELS unit TIMEOUT 300)
endforeach()

# The spec runner's JSON parser and value handling, tested on their own.
if(TARGET unit_spectest_json)
  target_sources(unit_spectest_json PRIVATE ${CMAKE_SOURCE_DIR}/tools/spectest/json.c
                 ${CMAKE_SOURCE_DIR}/tools/spectest/values.c)
  target_include_directories(unit_spectest_json PRIVATE ${CMAKE_SOURCE_DIR}/tools/spectest)
endif()
graft_c_tests(fault fault)

# One spec test per core/ file of the suite.
file(GLOB GRAFT_SPEC_DIRS LIST_DIRECTORIES true ${GRAFT_SPECTEST_DIR}/core/*)
list(LENGTH GRAFT_SPEC_DIRS n)
if(NOT n EQUAL 90)
  message(FATAL_ERROR "expected 90 core spec files under ${GRAFT_SPECTEST_DIR}/core, found ${n}")
endif()
foreach(d ${GRAFT_SPEC_DIRS})
  get_filename_component(name ${d} NAME)
  add_test(NAME spec/${name} COMMAND graft-spectest ${d}/${name}.json)
  set_tests_properties(spec/${name} PROPERTIES LABELS spec TIMEOUT 300)
endforeach()

# The proposals the engine implements behind feature bits; the runner turns
# on the bit that each file's MANIFEST.tsv bucket names.
foreach(f tail-call/return_call tail-call/return_call_indirect extended-const/data
          extended-const/elem extended-const/global)
  get_filename_component(name ${f} NAME)
  add_test(NAME spec/${f} COMMAND graft-spectest ${GRAFT_SPECTEST_DIR}/proposals/${f}/${name}.json)
  set_tests_properties(spec/${f} PROPERTIES LABELS spec TIMEOUT 300)
endforeach()

# The WASI preview 1 test suite through `graft run` (tests/wasi/run.sh),
# one test per language suite of GRAFT_WASI_TESTSUITE_DIR.
if(TARGET graft)
  foreach(suite c rust assemblyscript)
    add_test(NAME wasi/${suite} COMMAND bash ${CMAKE_SOURCE_DIR}/tests/wasi/run.sh
             $<TARGET_FILE:graft> ${GRAFT_WASI_TESTSUITE_DIR} ${suite})
    set_tests_properties(wasi/${suite} PROPERTIES LABELS wasi TIMEOUT 900)
  endforeach()
endif()

# End-to-end tests are shell scripts run against the built binaries.
file(GLOB GRAFT_E2E CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/e2e/*.sh)
foreach(t ${GRAFT_E2E})
  get_filename_component(stem ${t} NAME_WE)
  add_test(NAME e2e/${stem} COMMAND bash ${t} ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
  set_tests_properties(e2e/${stem} PROPERTIES LABELS e2e TIMEOUT 600)
endforeach()

if(GRAFT_FUZZ)
  include(${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz.cmake)
endif()

# ---- Sandbox limits: hostile and heavy modules, and the interrupt under TSan.
# The hand-written guests in tests/fault/wat/ become .wasm in the build dir
# through Debian's wat2wasm (wabt); the tests find them through
# GRAFT_TEST_WASM_DIR. tests/tsan/ holds the threaded tests, label tsan:
# `make check-tsan` runs them in build-tsan (clang, -DGRAFT_TSAN=ON).
find_package(Threads REQUIRED)
find_program(GRAFT_WAT2WASM wat2wasm REQUIRED)
set(GRAFT_TEST_WASM_DIR ${CMAKE_BINARY_DIR}/test-wasm)
set(graft_test_wasm)
foreach(w healthy hostile)
  add_custom_command(OUTPUT ${GRAFT_TEST_WASM_DIR}/${w}.wasm
    COMMAND ${CMAKE_COMMAND} -E make_directory ${GRAFT_TEST_WASM_DIR}
    COMMAND ${GRAFT_WAT2WASM} ${CMAKE_SOURCE_DIR}/tests/fault/wat/${w}.wat
            -o ${GRAFT_TEST_WASM_DIR}/${w}.wasm
    DEPENDS ${CMAKE_SOURCE_DIR}/tests/fault/wat/${w}.wat VERBATIM)
  list(APPEND graft_test_wasm ${GRAFT_TEST_WASM_DIR}/${w}.wasm)
endforeach()
add_custom_target(graft_test_wasm DEPENDS ${graft_test_wasm})
graft_c_tests(tsan tsan)
foreach(t fault_hostile fault_heavy fault_unmetered tsan_interrupt)
  if(TARGET ${t})
    add_dependencies(${t} graft_test_wasm)
    target_compile_definitions(${t} PRIVATE GRAFT_TEST_WASM_DIR="${GRAFT_TEST_WASM_DIR}")
    target_link_libraries(${t} PRIVATE Threads::Threads)
  endif()
endforeach()

# Differential fuzzing against binaryen (tests/fuzz/diff.sh, label fuzz): a
# fixed seed and count, so it is repeatable, plus the kept reproducers.
# Registered whether or not binaryen is installed: without wasm-opt the test
# fails and says so (scripts/install-deps.sh installs it), never skips.
if(TARGET graft-fuzz-exec)
  add_test(NAME fuzz/diff COMMAND bash ${CMAKE_SOURCE_DIR}/tests/fuzz/diff.sh
           $<TARGET_FILE:graft-fuzz-exec> 1 200)
  add_test(NAME fuzz/diff-regress COMMAND bash ${CMAKE_SOURCE_DIR}/tests/fuzz/diff.sh
           $<TARGET_FILE:graft-fuzz-exec> --replay ${CMAKE_SOURCE_DIR}/tests/fuzz/diff-regress)
  set_tests_properties(fuzz/diff fuzz/diff-regress PROPERTIES LABELS fuzz TIMEOUT 300)
endif()

# The Rust SDK's host-side unit tests (cargo test in sdk/rust) run through
# tests/e2e/rust_sdk.sh; they are unit tests, so they carry that label too.
if(TEST e2e/rust_sdk)
  set_tests_properties(e2e/rust_sdk PROPERTIES LABELS "e2e;unit")
endif()

# tests/store: the module store (src/store). unit.c is a unit test;
# campaign runs the crash campaigns (label fault): SIGKILLs at random
# moments, and power losses simulated by the LD_PRELOAD shim crashfs
# (tests/store/crashfs.c, built without sanitizers: it is preloaded ahead
# of the ASan runtime). The work directories are in the build dir, on the
# disk. The full runs, by hand (docs/ota.md):
#   build-h9/store_campaign kill /tmp/store-kill 300 1
#   build-h9/store_campaign crashfs /tmp/store-crashfs build-h9/libstore_crashfs.so 16 0 1
if(TARGET graft_store_lib)
  add_library(store_crashfs SHARED ${CMAKE_SOURCE_DIR}/tests/store/crashfs.c)
  target_compile_options(store_crashfs PRIVATE ${GRAFT_WARNINGS} -fno-sanitize=all)
  target_link_options(store_crashfs PRIVATE -fno-sanitize=all)
  target_link_libraries(store_crashfs PRIVATE ${CMAKE_DL_LIBS})
  foreach(stem unit campaign)
    add_executable(store_${stem} ${CMAKE_SOURCE_DIR}/tests/store/${stem}.c)
    target_include_directories(store_${stem} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
    target_compile_options(store_${stem} PRIVATE ${GRAFT_WARNINGS})
    target_compile_definitions(store_${stem} PRIVATE _GNU_SOURCE GRAFT_BINARY_DIR="${CMAKE_BINARY_DIR}")
    target_link_libraries(store_${stem} PRIVATE graft_store_lib)
  endforeach()
  add_dependencies(store_campaign store_crashfs)
  set(sc $<TARGET_FILE:store_campaign>)
  set(sw ${CMAKE_BINARY_DIR}/store-campaign)
  add_test(NAME store/unit COMMAND store_unit)
  add_test(NAME store/kill COMMAND ${sc} kill ${sw}-kill 40 12)
  add_test(NAME store/crashfs COMMAND ${sc} crashfs ${sw}-crashfs $<TARGET_FILE:store_crashfs> 12 40 12)
  add_test(NAME store/crashfs-negative
           COMMAND ${sc} crashfs ${sw}-negative $<TARGET_FILE:store_crashfs> 12 20 12 negative)
  set_tests_properties(store/unit PROPERTIES LABELS unit TIMEOUT 120)
  set_tests_properties(store/kill store/crashfs store/crashfs-negative PROPERTIES LABELS fault TIMEOUT 120)
endif()
