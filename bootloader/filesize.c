/* filesize.c: the size check a file passes before the loader allocates memory for it or fetches it. */
#include "filesize.h"

bool filesize_fits(uint64_t size, uint64_t max, uint64_t *alloc)
{
	*alloc = 0;
	if (size > max || size == UINT64_MAX)
		return false;
	*alloc = size + 1;
	return true;
}
