#!/usr/bin/env bash
# Idempotent set-up for Tower: the Debian packages it needs (only those missing), then the
# package itself in editable mode with the test extras. Safe to run again at any time.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
# ffmpeg: every cut, mix and encode; espeak-ng: fallback voice; fluidsynth + GM soundfonts:
# music cues; graphviz: `--dag | dot`; sox: listening checks; fonts-dejavu-core: storyboard text;
# fonts-noto-cjk: Japanese (and Chinese, Korean) storyboard text, and players' fallback for
# Japanese subtitles; mkvtoolnix: the episode gate reads the chapters' language (mkvextract) and
# the tests read every track's flags with a reader independent of FFmpeg (mkvmerge -J);
# postgresql: the server binaries (initdb, pg_ctl) the tests start a throwaway PostgreSQL with;
# slurmctld slurmd slurm-client munge: the test suite's one-node SLURM cluster (tests/test_slurm.py);
# chromium: the headless browser the review room's test drives (tests/test_review_browser.py, through Playwright).
PACKAGES=(ffmpeg espeak-ng fluidsynth fluid-soundfont-gm timgm6mb-soundfont graphviz sox fonts-dejavu-core
          fonts-noto-cjk mkvtoolnix postgresql slurmctld slurmd slurm-client munge chromium)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  # another apt may hold the lock (unattended upgrades); wait for it rather than fail
  $SUDO apt-get -o DPkg::Lock::Timeout=120 update -qq
  # --no-install-recommends: fluidsynth would otherwise pull in Qt and GTK
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=120 install -y -qq \
    --no-install-recommends "${missing[@]}"
else
  echo "setup: Debian packages already present"
fi

echo "setup: installing tower-anime (editable) with test and report extras"
"$PYTHON" -m pip install -q --disable-pip-version-check -e '.[test,reports]'
echo "setup: done. Build the demo with: snakemake --cores 2 episodes/ep01.mkv"
