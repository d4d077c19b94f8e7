"""Execute every notebook under a folder with nbclient; fail on the first cell error.

A notebook that draws with matplotlib must also show what it drew: its executed outputs must
hold a PNG image (a backend such as ``Agg`` would run the cell and display nothing).
"""

import pathlib
import sys

import nbclient
import nbformat


def images(nb: nbformat.NotebookNode) -> int:
    """PNG images among the notebook's outputs."""
    return sum(
        "image/png" in output.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


def draws(nb: nbformat.NotebookNode) -> bool:
    """Whether any code cell plots with matplotlib."""
    return any(cell.cell_type == "code" and "matplotlib" in cell.source for cell in nb.cells)


def main(folder: str) -> None:
    notebooks = sorted(pathlib.Path(folder).glob("*.ipynb"))
    if not notebooks:
        sys.exit(f"no notebooks under {folder}")
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3")
        client.execute(cwd=str(path.parent))
        if draws(nb) and not images(nb):
            sys.exit(f"{path}: it plots, but no image/png output was shown")
        print(f"ok {path} ({images(nb)} images)")


if __name__ == "__main__":
    main(sys.argv[1])
