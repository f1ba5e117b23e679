"""`python -m facebench ...` is the `facebench` command."""

from facebench.cli import main

if __name__ == "__main__":
    main()
