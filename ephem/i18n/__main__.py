"""`python -m ephem.i18n extract | compile | check` (README "Languages")."""

import sys

from ephem.i18n import catalogs, offline

USAGE = "usage: python -m ephem.i18n extract | compile | check"


def main(argv: list[str]) -> int:
    if argv == ["extract"]:
        template = catalogs.extract()
        catalogs.update(template)
        print(f"{len(template)} texts; catalogs updated: {', '.join(catalogs.LANGUAGES)}")
        return 0
    if argv == ["compile"]:
        for path in catalogs.compile_all():
            print(path)
        return 0
    if argv == ["check"]:
        found = [problem for lang in catalogs.LANGUAGES if lang != "en" for problem in catalogs.problems(lang)]
        found += offline.problems()
        print("\n".join(found) or "every catalog is complete")
        return 1 if found else 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
