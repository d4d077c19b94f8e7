import converz


def test_version_matches_the_native_module():
    from converz import _core

    assert converz.__version__ == _core.__version__
    assert converz.build_profile in {"debug", "release"}
