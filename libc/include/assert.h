/* assert.h: assert() prints file:line: function: expression and aborts. */
/* No include guard: C says each inclusion re-reads NDEBUG. */
#undef assert

#ifdef NDEBUG
#define assert(e) ((void)0)
#else
__attribute__((noreturn)) void __assert_fail(const char *expr, const char *file, unsigned int line,
                                             const char *func);
#define assert(e) ((e) ? (void)0 : __assert_fail(#e, __FILE__, __LINE__, __func__))
#endif

#ifndef static_assert
#define static_assert _Static_assert
#endif
