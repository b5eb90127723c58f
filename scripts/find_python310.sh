#!/usr/bin/env bash
# Print a working Python 3.10 interpreter: python3.10 on PATH, else pyenv's 3.10.x.
# Prints nothing (and exits 1) when there is none.
candidates=(python3.10)
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for dir in $(ls -d "$root"/versions/3.10.* 2>/dev/null | sort -rV); do
  candidates+=("$dir/bin/python")
done
for candidate in "${candidates[@]}"; do
  if "$candidate" -c 'import sys, venv; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; then
    command -v "$candidate" 2>/dev/null || echo "$candidate"
    exit 0
  fi
done
exit 1
