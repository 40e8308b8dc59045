/* ubsan.c: UBSAN: the handlers GCC's -fsanitize=undefined calls; each reports kind and file:line:column, then panics. */
#include "kernel/kernel.h"
#include "lib/printf.h"

/*
 * Built without instrumentation (sources.toml `unsanitized`). The data
 * structures are UndefinedBehaviorSanitizer's runtime ABI, which GCC and
 * clang share (compiler-rt's ubsan_handlers.h). We build with
 * -fno-sanitize-recover, so GCC calls the _abort variants and expects no
 * return: the first report stops the app (status 127), as KASAN does. The
 * state after undefined behaviour is not worth running on in a server, and
 * one report with a backtrace is easier to act on than a stream.
 */
struct ubsan_source {
	const char *file;
	uint32_t line;
	uint32_t column;
};

/* type_kind 0: integer, info = log2(bit width) << 1 | signed */
struct ubsan_type {
	uint16_t kind;
	uint16_t info;
	char name[];
};

struct ubsan_overflow {            /* add, sub, mul, negate, divrem */
	struct ubsan_source loc;
	const struct ubsan_type *type;
};

struct ubsan_shift {
	struct ubsan_source loc;
	const struct ubsan_type *lhs_type, *rhs_type;
};

struct ubsan_out_of_bounds {
	struct ubsan_source loc;
	const struct ubsan_type *array_type, *index_type;
};

struct ubsan_type_mismatch {       /* _v1: null, alignment, object-size */
	struct ubsan_source loc;
	const struct ubsan_type *type;
	uint8_t log_alignment;
	uint8_t check_kind;
};

struct ubsan_loc_type {            /* vla-bound, load-invalid-value (bool, enum) */
	struct ubsan_source loc;
	const struct ubsan_type *type;
};

struct ubsan_nonnull_arg {
	struct ubsan_source loc, attr_loc;
	int arg_index;
};

struct ubsan_nonnull_return {
	struct ubsan_source attr_loc;
};

struct ubsan_loc {                 /* pointer-overflow, unreachable */
	struct ubsan_source loc;
};

struct ubsan_invalid_builtin {
	struct ubsan_source loc;
	uint8_t kind;                  /* 0: ctz, 1: clz */
};

#define UBSAN_TYPE_INT 0
#define UBSAN_MAX_INLINE_BITS 64  /* wider values are passed by pointer */

/* The access kinds of type_mismatch (compiler-rt's TypeCheckKind, in order). */
static const char *const ubsan_check_kinds[] = {
	"load of", "store to", "reference binding to", "member access within",
	"member call on", "constructor call on", "downcast of", "downcast of",
	"upcast of", "cast to virtual base of", "_Nonnull binding to",
	"dynamic operation on",
};

static unsigned ubsan_bits(const struct ubsan_type *t)
{
	return 1u << (t->info >> 1);
}

static bool ubsan_signed(const struct ubsan_type *t)
{
	return t->kind == UBSAN_TYPE_INT && (t->info & 1);
}

/* An integer operand as text ("?" for the 128-bit ones, passed by pointer). */
static const char *ubsan_value(char *buf, size_t len, const struct ubsan_type *t, uintptr_t v)
{
	unsigned bits = ubsan_bits(t);

	if (t->kind != UBSAN_TYPE_INT || bits > UBSAN_MAX_INLINE_BITS)
		return "?";
	if (ubsan_signed(t)) {
		int64_t s = (int64_t)(v << (64 - bits)) >> (64 - bits);

		printf_snprintf(buf, len, "%ld", (long)s);
	} else {
		printf_snprintf(buf, len, "%lu", (unsigned long)v);
	}
	return buf;
}

/* Frame #0 is the caller's call of the handler (ret - 1), then its frame chain. */
#define UBSAN_REPORT(loc, fmt, ...)                                                   \
	ubsan_report((loc), (uintptr_t)__builtin_extract_return_addr(                 \
				    __builtin_return_address(0)),                     \
		     __builtin_frame_address(0), fmt, __VA_ARGS__)

__attribute__((noreturn, format(printf, 4, 5)))
static void ubsan_report(const struct ubsan_source *loc, uintptr_t ip, const void *frame,
			 const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	printf_vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	panic_frame(*(const uint64_t *)frame, ip - 1, "UBSAN: %s at %s:%u:%u",
		    what, loc->file ? loc->file : "?", loc->line, loc->column);
}

static void ubsan_overflow(const struct ubsan_overflow *d, uintptr_t ip, const void *frame,
			   uintptr_t lhs, uintptr_t rhs, char op)
{
	char a[24], b[24];

	ubsan_report(&d->loc, ip, frame, "%s integer overflow: %s %c %s cannot be represented "
		     "in type %s", ubsan_signed(d->type) ? "signed" : "unsigned",
		     ubsan_value(a, sizeof(a), d->type, lhs), op,
		     ubsan_value(b, sizeof(b), d->type, rhs), d->type->name);
}

#define UBSAN_CALLER ((uintptr_t)__builtin_extract_return_addr(__builtin_return_address(0)))

#define UBSAN_ARITH(name, op)                                                          \
	void __ubsan_handle_##name##_overflow_abort(const struct ubsan_overflow *d,    \
						    uintptr_t lhs, uintptr_t rhs);     \
	void __ubsan_handle_##name##_overflow_abort(const struct ubsan_overflow *d,    \
						    uintptr_t lhs, uintptr_t rhs)      \
	{                                                                              \
		ubsan_overflow(d, UBSAN_CALLER, __builtin_frame_address(0), lhs, rhs, op); \
	}
UBSAN_ARITH(add, '+')
UBSAN_ARITH(sub, '-')
UBSAN_ARITH(mul, '*')

void __ubsan_handle_negate_overflow_abort(const struct ubsan_overflow *d, uintptr_t old);
void __ubsan_handle_negate_overflow_abort(const struct ubsan_overflow *d, uintptr_t old)
{
	char a[24];

	UBSAN_REPORT(&d->loc, "negation of %s cannot be represented in type %s",
		     ubsan_value(a, sizeof(a), d->type, old), d->type->name);
}

void __ubsan_handle_divrem_overflow_abort(const struct ubsan_overflow *d, uintptr_t lhs,
					  uintptr_t rhs);
void __ubsan_handle_divrem_overflow_abort(const struct ubsan_overflow *d, uintptr_t lhs,
					  uintptr_t rhs)
{
	char a[24], b[24];

	if (d->type->kind == UBSAN_TYPE_INT && rhs == 0)
		UBSAN_REPORT(&d->loc, "division by zero: %s / 0",
			     ubsan_value(a, sizeof(a), d->type, lhs));
	UBSAN_REPORT(&d->loc, "division overflow: %s / %s cannot be represented in type %s",
		     ubsan_value(a, sizeof(a), d->type, lhs),
		     ubsan_value(b, sizeof(b), d->type, rhs), d->type->name);
}

void __ubsan_handle_shift_out_of_bounds_abort(const struct ubsan_shift *d, uintptr_t lhs,
					      uintptr_t rhs);
void __ubsan_handle_shift_out_of_bounds_abort(const struct ubsan_shift *d, uintptr_t lhs,
					      uintptr_t rhs)
{
	char a[24], b[24];

	UBSAN_REPORT(&d->loc, "shift out of bounds: %s << or >> %s (%s by %s)",
		     ubsan_value(a, sizeof(a), d->lhs_type, lhs),
		     ubsan_value(b, sizeof(b), d->rhs_type, rhs), d->lhs_type->name,
		     d->rhs_type->name);
}

void __ubsan_handle_out_of_bounds_abort(const struct ubsan_out_of_bounds *d, uintptr_t index);
void __ubsan_handle_out_of_bounds_abort(const struct ubsan_out_of_bounds *d, uintptr_t index)
{
	char a[24];

	UBSAN_REPORT(&d->loc, "array index out of bounds: index %s of type %s",
		     ubsan_value(a, sizeof(a), d->index_type, index), d->array_type->name);
}

void __ubsan_handle_type_mismatch_v1_abort(const struct ubsan_type_mismatch *d, uintptr_t ptr);
void __ubsan_handle_type_mismatch_v1_abort(const struct ubsan_type_mismatch *d, uintptr_t ptr)
{
	const char *what = d->check_kind < sizeof(ubsan_check_kinds) / sizeof(ubsan_check_kinds[0]) ?
			   ubsan_check_kinds[d->check_kind] : "access to";
	uintptr_t align = (uintptr_t)1 << d->log_alignment;

	if (!ptr)
		UBSAN_REPORT(&d->loc, "null pointer: %s null pointer of type %s", what,
			     d->type->name);
	if (d->log_alignment && (ptr & (align - 1)))
		UBSAN_REPORT(&d->loc, "misaligned access: %s address %#lx of type %s, which "
			     "needs %lu-byte alignment", what, (unsigned long)ptr, d->type->name,
			     (unsigned long)align);
	UBSAN_REPORT(&d->loc, "object too small: %s address %#lx with insufficient space for "
		     "an object of type %s", what, (unsigned long)ptr, d->type->name);
}

void __ubsan_handle_vla_bound_not_positive_abort(const struct ubsan_loc_type *d, uintptr_t bound);
void __ubsan_handle_vla_bound_not_positive_abort(const struct ubsan_loc_type *d, uintptr_t bound)
{
	char a[24];

	UBSAN_REPORT(&d->loc, "variable-length array bound %s is not positive",
		     ubsan_value(a, sizeof(a), d->type, bound));
}

void __ubsan_handle_load_invalid_value_abort(const struct ubsan_loc_type *d, uintptr_t val);
void __ubsan_handle_load_invalid_value_abort(const struct ubsan_loc_type *d, uintptr_t val)
{
	char a[24];

	UBSAN_REPORT(&d->loc, "load of invalid value %s for type %s",
		     ubsan_value(a, sizeof(a), d->type, val), d->type->name);
}

void __ubsan_handle_nonnull_arg_abort(const struct ubsan_nonnull_arg *d);
void __ubsan_handle_nonnull_arg_abort(const struct ubsan_nonnull_arg *d)
{
	UBSAN_REPORT(&d->loc, "null pointer passed as argument %d, declared nonnull",
		     d->arg_index);
}

void __ubsan_handle_nonnull_return_v1_abort(const struct ubsan_nonnull_return *d,
					    const struct ubsan_source *loc);
void __ubsan_handle_nonnull_return_v1_abort(const struct ubsan_nonnull_return *d,
					    const struct ubsan_source *loc)
{
	UBSAN_REPORT(loc, "null pointer returned from a function declared returns_nonnull "
		     "(%s:%u)", d->attr_loc.file, d->attr_loc.line);
}

void __ubsan_handle_pointer_overflow_abort(const struct ubsan_loc *d, uintptr_t base,
					   uintptr_t result);
void __ubsan_handle_pointer_overflow_abort(const struct ubsan_loc *d, uintptr_t base,
					   uintptr_t result)
{
	UBSAN_REPORT(&d->loc, "pointer overflow: %#lx to %#lx", (unsigned long)base,
		     (unsigned long)result);
}

void __ubsan_handle_builtin_unreachable(const struct ubsan_loc *d);
void __ubsan_handle_builtin_unreachable(const struct ubsan_loc *d)
{
	UBSAN_REPORT(&d->loc, "%s", "__builtin_unreachable() reached");
}

void __ubsan_handle_invalid_builtin_abort(const struct ubsan_invalid_builtin *d);
void __ubsan_handle_invalid_builtin_abort(const struct ubsan_invalid_builtin *d)
{
	UBSAN_REPORT(&d->loc, "passing zero to %s, which is not a valid argument",
		     d->kind ? "clz()" : "ctz()");
}

/* One boot line, so a console says which build it is. */
static void ubsan_announce(void)
{
	console_printf("unicycle: UBSAN: on; the first report stops the app\n");
}
INIT_CALL(INIT_BUS, ubsan_announce);
