"""The `mvi` command line (SPEC §12): `mvi init [NAME]` creates a service project.

Reached through `python3 -m mvi` or the `mvi` launcher installed beside mvi-runtime (scripts/mvi). Standard
library only, and it never imports the service machinery's native side: it runs under any python3.
The project is made from the files in mvi/templates/project: each `X.tmpl` becomes `X`, with `{{name}}`
replaced by the project name (plain text substitution, nothing else is interpreted).
Exit codes: 0 success, 1 the project could not be created (folder exists, I/O error), 2 usage error
(bad name, unknown option, no answer to the prompt), 130 interrupted.
"""

import argparse
import re
import shutil
import sys
from pathlib import Path

__version__ = "0.1.0"  # the runtime's version: keep equal to include/mvi/version.hpp and CMakeLists.txt

NAME_PATTERN = r"^[_a-zA-Z][_a-zA-Z0-9]+$"
_NAME_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]+")  # used with fullmatch: "$" would accept a trailing newline
DEFAULT_NAME = "my_project"
PROMPT = f"project_name [{DEFAULT_NAME}]: "
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "project"
TEMPLATE_SUFFIX = ".tmpl"
PLACEHOLDER = "{{name}}"
# What the success message lists, in SPEC §12's order (tests check it against the templates).
LAYOUT = ("service.py", "requirements.txt", "README.md", ".s2i/environment", ".s2iignore", "tests/")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    """A message for the user and the exit code that goes with it."""

    def __init__(self, message, code=EXIT_FAILED):
        super().__init__(message)
        self.code = code


def is_valid_name(name) -> bool:
    return isinstance(name, str) and _NAME_RE.fullmatch(name) is not None


def check_name(name):
    """Raise CliError (exit 2) unless `name` matches NAME_PATTERN."""
    if not is_valid_name(name):
        raise CliError(
            f"{name!r} is not a valid project name: use letters, digits and underscores, at least 2 characters, "
            f"not starting with a digit ({NAME_PATTERN})",
            EXIT_USAGE,
        )


def render(text, name):
    return text.replace(PLACEHOLDER, name)


def template_files(template_dir=TEMPLATE_DIR):
    """[(relative output path, template path)], sorted; every `*.tmpl` file under template_dir."""
    found = []
    for path in sorted(Path(template_dir).rglob("*" + TEMPLATE_SUFFIX)):
        if path.is_file() and "__pycache__" not in path.parts:
            rel = path.relative_to(template_dir).as_posix()
            found.append((rel[: -len(TEMPLATE_SUFFIX)], path))
    if not found:
        raise CliError(f"no project templates in {template_dir} (incomplete installation of the mvi package)")
    return found


def render_project(name, template_dir=TEMPLATE_DIR):
    """{relative path: content} of the project called `name`."""
    check_name(name)
    return {rel: render(path.read_text(encoding="utf-8"), name) for rel, path in template_files(template_dir)}


def create_project(name, parent=".", force=False, template_dir=TEMPLATE_DIR):
    """Write the project into parent/name and return that folder.

    The folder must not exist, unless force=True: then the generated files overwrite theirs in the existing
    folder and every other file there is left alone. A new folder is removed again if writing fails.
    """
    files = render_project(name, template_dir)  # everything is read before anything is written
    target = Path(parent) / name
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise CliError(f"{target} exists and is not a folder")
        if not force:
            raise CliError(f"{target}/ already exists; choose another name, or use --force to write the "
                           f"generated files into it")
    created = False
    try:
        try:
            target.mkdir()
            created = True
        except FileExistsError:
            if not force:  # appeared since the check above
                raise CliError(f"{target}/ already exists") from None
        for rel, content in files.items():
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(content)
    except OSError as exc:
        if created:
            shutil.rmtree(target, ignore_errors=True)
        raise CliError(f"cannot create {target}: {exc}") from None
    return target


def _input(prompt):
    """input(), ending the prompt's line when stdin is not a terminal (the answer was not echoed)."""
    try:
        return input(prompt)
    finally:
        if not sys.stdin.isatty():
            sys.stdout.write("\n")
            sys.stdout.flush()


def ask_name(read=_input):
    """The project name from the prompt; an empty answer means DEFAULT_NAME, end of input is an error."""
    try:
        answer = read(PROMPT)
    except EOFError:
        raise CliError(f"no answer on standard input; give the name (mvi init NAME) or use -n for "
                       f"{DEFAULT_NAME}", EXIT_USAGE) from None
    return answer.strip() or DEFAULT_NAME


def _summary(name):
    return (
        f"Created {name}/: {', '.join(LAYOUT)}\n"
        f"Next:\n"
        f"  cd {name}\n"
        f"  python3 service.py         # serves http://localhost:8000 (API docs at /docs); Ctrl-C stops it\n"
        f"  python3 -m pytest tests    # runs its tests\n"
    )


def _parser():
    parser = argparse.ArgumentParser(
        prog="mvi",
        description="Project tools for services served by mvi-runtime.",
        epilog="Serve a service with `mvi-runtime service.py`; see `mvi-runtime --help`.",
    )
    parser.add_argument("--version", action="version", version=f"mvi {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    init = commands.add_parser(
        "init",
        help="create a service project",
        description=(
            "Create the folder NAME with service.py (an example service), requirements.txt, README.md, "
            ".s2i/environment, .s2iignore and tests/. Without NAME, ask for it (unless -n). "
            f"NAME must match {NAME_PATTERN}."
        ),
    )
    init.add_argument("name", nargs="?", metavar="NAME", help="project name, also the folder created")
    init.add_argument("-n", "--no-input", action="store_true",
                      help=f"never prompt; without NAME use {DEFAULT_NAME}")
    init.add_argument("--force", action="store_true",
                      help="if NAME/ exists, write the generated files into it (other files are kept)")
    return parser


def _init(args, read, out):
    name = args.name
    if name is None:
        name = DEFAULT_NAME if args.no_input else ask_name(read)
    check_name(name)
    create_project(name, ".", force=args.force)
    out.write(_summary(name))
    return EXIT_OK


def main(argv=None, read=_input, out=None, err=None):
    """Run the command line; returns the exit code (argparse's own errors exit 2 through SystemExit)."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_usage(err)
        err.write("mvi: error: a command is required (mvi init NAME); see mvi --help\n")
        return EXIT_USAGE
    try:
        return _init(args, read, out)
    except CliError as exc:
        err.write(f"mvi {args.command}: error: {exc}\n")
        return exc.code
    except KeyboardInterrupt:
        err.write("\n")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
