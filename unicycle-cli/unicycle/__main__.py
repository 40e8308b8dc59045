"""`python -m unicycle`: the same as the `unicycle` command."""
from .cli import main

main()
