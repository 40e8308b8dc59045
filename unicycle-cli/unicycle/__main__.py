"""`python -m unicycle`: the same as the `unicycle` command."""
from .entry import main

main()
