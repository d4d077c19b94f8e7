"""Execute every notebook under a folder with nbclient; fail on the first cell error."""

import pathlib
import sys

import nbclient
import nbformat


def main(folder: str) -> None:
    notebooks = sorted(pathlib.Path(folder).glob("*.ipynb"))
    if not notebooks:
        sys.exit(f"no notebooks under {folder}")
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3")
        client.execute(cwd=str(path.parent))
        print(f"ok {path}")


if __name__ == "__main__":
    main(sys.argv[1])
