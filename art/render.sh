#!/bin/sh
# Re-render the add-on store artwork (icon.png, logo.png at the repo root)
# from the SVG sources in this folder. Needs rsvg-convert (Debian package
# librsvg2-bin); optipng (Debian package optipng) is used if installed.
set -eu

art_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
root=$(dirname -- "$art_dir")

if ! command -v rsvg-convert >/dev/null 2>&1; then
  echo "rsvg-convert not found: apt-get install -y librsvg2-bin" >&2
  exit 1
fi

rsvg-convert --width 256 --height 256 --output "$root/icon.png" "$art_dir/icon.svg"
rsvg-convert --width 500 --height 200 --output "$root/logo.png" "$art_dir/logo.svg"

if command -v optipng >/dev/null 2>&1; then
  optipng -quiet -o7 -strip all "$root/icon.png" "$root/logo.png"
else
  echo "optipng not found: PNGs left unoptimised" >&2
fi

echo "wrote $root/icon.png and $root/logo.png"
