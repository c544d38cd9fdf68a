"""`python -m zhongshu.cli` (the server starts its worker so)."""

from zhongshu.cli import main

main()
