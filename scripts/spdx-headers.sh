#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Puts the license identifier at the top of every source file: `// SPDX-License-Identifier: Apache-2.0`
# for Swift and C (after Package.swift's swift-tools-version line, which must stay first), `# …` for
# shell and Python (after a #! line). Idempotent: a file that has it is left alone.
# Usage: scripts/spdx-headers.sh [--check]   (--check lists files without it and exits 1 if any)
set -euo pipefail
cd "$(dirname "$0")/.."
tag="SPDX-License-Identifier: Apache-2.0"
check=false
[ "${1:-}" = --check ] && check=true
missing=0
while IFS= read -r file; do
	case "$file" in
	*.swift | *.c | *.h) comment="// $tag" ;;
	*.sh | *.py | packaging/claude-local | packaging/debian/postinst | packaging/debian/prerm | packaging/debian/postrm) comment="# $tag" ;;
	*) continue ;;
	esac
	head -n 3 "$file" | grep -qF "$tag" && continue
	if $check; then
		echo "$file"
		missing=1
		continue
	fi
	first=$(head -n 1 "$file")
	case "$first" in
	'#!'* | '// swift-tools-version'*) { echo "$first"; echo "$comment"; tail -n +2 "$file"; } > "$file.spdx" ;;
	*) { echo "$comment"; cat "$file"; } > "$file.spdx" ;;
	esac
	chmod --reference="$file" "$file.spdx"
	mv "$file.spdx" "$file"
done < <(git ls-files --cached --others --exclude-standard Package.swift Sources Tests Benchmarks scripts packaging)
exit $missing
