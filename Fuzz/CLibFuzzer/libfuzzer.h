// libFuzzer's driver entry point, from the runtime `-sanitize=fuzzer` links in
// (compiler-rt/lib/fuzzer/FuzzerInterface.h). SwiftPM renames every executable's `main`, so a fuzz
// target cannot rely on libFuzzer's own `main`: it has an `@main` that calls this instead.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
