#!/bin/sh
# Prints what this stack has installed, one key=value a line; recorded as image labels
# (paas.stack.<key>) when the stack is built, shown by `paas stack`.
v() { "$@" 2>/dev/null | head -n1; }
echo "debian=$(cat /etc/debian_version 2>/dev/null)"
command -v node >/dev/null && echo "node=$(v node --version | sed 's/^v//')"
command -v npm >/dev/null && echo "npm=$(v npm --version)"
command -v python3 >/dev/null && echo "python=$(v python3 --version | sed 's/^Python //')"
command -v pip3 >/dev/null && echo "pip=$(v pip3 --version | cut -d' ' -f2)"
command -v go >/dev/null && echo "go=$(v go version | cut -d' ' -f3 | sed 's/^go//')"
command -v gcc >/dev/null && echo "gcc=$(v gcc -dumpfullversion)"
command -v git >/dev/null && echo "git=$(v git --version | cut -d' ' -f3)"
exit 0
