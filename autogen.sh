#!/bin/sh
# Generate configure and Makefile.in; tap-driver.sh is automake's own file,
# copied in here rather than committed.
set -e
cd "$(dirname "$0")"
autoreconf -fi
cp "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
