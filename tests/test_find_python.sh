#!/bin/sh
# scripts/find-python against fake interpreters on a fake PATH (run by tests/test_find_python.py).
#
# A fake interpreter answers find-python's probe with "MAJOR MINOR HAS_VENV EXECUTABLE", or fails
# like a pyenv shim with no version selected. PATH holds only the fakes plus the two utilities the
# script needs, so the machine's real Pythons never take part.

set -u
here=$(cd "$(dirname "$0")" && pwd)
find_python="$here/../scripts/find-python"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

utils="$work/utils"
mkdir -p "$utils"
for tool in ls sort; do
    ln -s "$(command -v "$tool")" "$utils/$tool"
done

# fake DIR NAME VERSION_LINE: an interpreter that prints VERSION_LINE; "fail" makes a broken shim.
fake() {
    mkdir -p "$1"
    if [ "$3" = fail ]; then
        printf '#!/bin/sh\necho "pyenv: %s: command not found" >&2\nexit 127\n' "$2" >"$1/$2"
    else
        printf '#!/bin/sh\necho "%s"\n' "$3" >"$1/$2"
    fi
    chmod +x "$1/$2"
}

# check NAME EXPECTED_RC EXPECTED_TEXT: runs find-python in a clean environment (plus $extra_env).
check() {
    out=$(env -i HOME="$work/home" PATH="$bin:$utils" $extra_env /bin/sh "$find_python" 2>&1)
    rc=$?
    case "$out" in
        *"$3"*) text_ok=1 ;;
        *) text_ok=0 ;;
    esac
    if [ "$rc" = "$2" ] && [ "$text_ok" = 1 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $1: rc=$rc (want $2), output: $out (want: $3)"
    fi
}

# 1. python3.13 is a failing shim, python3.12 works, python3 is 3.11: picks 3.12.
bin="$work/c1"; extra_env=""
fake "$bin" python3.13 fail
fake "$bin" python3.12 "3 12 1 /opt/py312/bin/python3.12"
fake "$bin" python3 "3 11 1 /usr/bin/python3"
check "skips failing shim" 0 "/opt/py312/bin/python3.12"

# 2. python3.13 works: it wins over python3.12.
bin="$work/c2"
fake "$bin" python3.13 "3 13 1 /opt/py313/bin/python3.13"
fake "$bin" python3.12 "3 12 1 /opt/py312/bin/python3.12"
check "prefers python3.13" 0 "/opt/py313/bin/python3.13"

# 3. only python3, and it is 3.14: accepted (the check is >= 3.12, not a fixed list).
bin="$work/c3"
fake "$bin" python3 "3 14 1 /usr/local/bin/python3"
check "newer python3" 0 "/usr/local/bin/python3"

# 4. $PYTHON is honoured even when a newer python3.13 is on PATH.
bin="$work/c2"
fake "$work/own" mypython "3 12 1 /home/me/py/bin/python"
extra_env="PYTHON=$work/own/mypython"
check "honours PYTHON" 0 "/home/me/py/bin/python"

# 5. $PYTHON set to an old interpreter: an error naming it, no silent fallback.
fake "$work/own" oldpython "3 11 1 /usr/bin/python3.11"
extra_env="PYTHON=$work/own/oldpython"
check "rejects old PYTHON" 1 "PYTHON=$work/own/oldpython is not a working Python"

# 6. nothing suitable (3.11 and 3.9, a broken shim, no pyenv): a plain message, exit 1.
bin="$work/c6"; extra_env=""
fake "$bin" python3 "3 11 1 /usr/bin/python3"
fake "$bin" python3.12 fail
fake "$bin" python3.9 "3 9 1 /usr/bin/python3.9"
check "none found" 1 "install Python 3.12 or newer"

# 7. pyenv versions, newest first, by number (3.9 is older than 3.12), via `pyenv root`.
root="$work/pyenv"
fake "$root/versions/3.9.18/bin" python3 "3 9 1 $root/versions/3.9.18/bin/python3"
fake "$root/versions/3.12.1/bin" python3 "3 12 1 $root/versions/3.12.1/bin/python3"
fake "$root/versions/3.13.0/bin" python3 "3 13 1 $root/versions/3.13.0/bin/python3"
printf '#!/bin/sh\necho "%s"\n' "$root" >"$bin/pyenv"
chmod +x "$bin/pyenv"
check "pyenv newest" 0 "$root/versions/3.13.0/bin/python3"

# 8. the newest pyenv version is broken: the next one is used.
fake "$root/versions/3.13.0/bin" python3 fail
check "pyenv skips broken" 0 "$root/versions/3.12.1/bin/python3"

# 9. no pyenv command, but PYENV_ROOT is set.
rm "$bin/pyenv"
extra_env="PYENV_ROOT=$root"
check "PYENV_ROOT without pyenv" 0 "$root/versions/3.12.1/bin/python3"

# 10. new enough but without venv/ensurepip (Debian without python3-venv): says what to install.
bin="$work/c10"; extra_env=""
fake "$bin" python3 "3 12 0 /usr/bin/python3"
check "no venv module" 1 "python3-venv"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
