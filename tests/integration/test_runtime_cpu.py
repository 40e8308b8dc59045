"""CPU set-up: AVX state is enabled for apps (XSAVE), and a CPU without a
required feature gets a panic naming the feature instead of a mystery fault."""
import pytest

from helpers import new_project, unicycle

pytestmark = pytest.mark.qemu

AVX_APP = r"""/* main.c: adds two vectors with AVX instructions. */
#include <immintrin.h>
#include <unicycle/unicycle.h>

__attribute__((target("avx"), noinline)) static double sum8(const double *a, const double *b)
{
	__m256d x = _mm256_add_pd(_mm256_loadu_pd(a), _mm256_loadu_pd(b));
	__m256d y = _mm256_add_pd(_mm256_loadu_pd(a + 4), _mm256_loadu_pd(b + 4));
	double out[4];

	_mm256_storeu_pd(out, _mm256_add_pd(x, y));
	return out[0] + out[1] + out[2] + out[3];
}

int app_main(void)
{
	static const double a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {8, 7, 6, 5, 4, 3, 2, 1};
	double s = sum8(a, b);

	uc_printf("avx sum %d\n", (int)s);
	return s == 72.0 ? 0 : 1;
}
"""


def test_avx_works_in_apps(tmp_path):
    proj = new_project(tmp_path, "avx")
    (proj / "src" / "main.c").write_text(AVX_APP)
    r = unicycle("run", "-C", proj, "--direct", "--timeout", "120", timeout=400)
    assert "unicycle: CPU: SSE2" in r.stdout and " AVX" in r.stdout, r.stdout
    assert "avx sum 72" in r.stdout, r.stdout
    assert r.returncode == 0, r.stdout + r.stderr


def test_missing_required_feature_is_named(tmp_path):
    proj = new_project(tmp_path, "nonx")
    r = unicycle("run", "-C", proj, "--direct", "--timeout", "120", "--qemu-arg=-cpu",
                 "--qemu-arg=qemu64,-nx", timeout=400)
    assert "this CPU lacks what the runtime needs: NX" in r.stdout, r.stdout
    assert "Hello from nonx" not in r.stdout
    assert r.returncode == 127
