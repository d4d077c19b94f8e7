"""`make demo`: placeholder until the client lands."""

import converz

if __name__ == "__main__":
    print(f"converz {converz.__version__} ({converz.build_profile} build)")
