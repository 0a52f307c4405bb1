/* Coverage builds only (meson -Dcoverage=true), linked into the example plugins: tells the worker
 * where this object's gcov units are, so it can carry them out with its own (docs/quality.md).
 * Not part of the SDK: a plugin never sees or calls this. */
/* The names below are the linker's and libgcov's, not ours to choose.
 * NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */

/* -fprofile-info-section=gcov_info puts a pointer per translation unit here; the linker defines
 * the bounds, for this object alone, because something refers to them. */
extern const void* const __start_gcov_info[];
extern const void* const __stop_gcov_info[];

/* Sets *begin to the first unit pointer and *end past the last. */
__attribute__((visibility("default"))) void cordon_coverage_units(const void* const** begin,
                                                                  const void* const** end) {
  *begin = __start_gcov_info;
  *end = __stop_gcov_info;
}

/* The gcov units name libgcov's merge function, which reads .gcda files with fopen(); nothing in
 * a plugin ever merges (the worker serializes the counters, gcov-tool merges them outside), so
 * this stands in for it and libgcov's file code is never linked in: an instrumented plugin
 * imports no more than the real one, and the static audit (cordon plugins audit) stays as strict.
 */
__attribute__((visibility("hidden"))) void __gcov_merge_add(long long* counters, unsigned count) {
  (void)counters;
  (void)count;
}
/* NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
