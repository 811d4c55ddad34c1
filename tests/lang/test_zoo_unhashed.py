"""The stored list of the zoo's unhashed published files (archspec/lang/zoo_unhashed.json) is the one specs/ gives."""

from archspec.lang.zoo_unhashed import computed, stored


def test_the_stored_pairs_are_the_bundled_specs_own():
    pairs = computed()
    assert stored() == pairs, "specs/ changed: run python -m archspec.lang.zoo_unhashed > archspec/lang/zoo_unhashed.json"
    # keras.applications publishes no hash for MobileNet and MobileNetV2, with and without the top
    assert len(pairs) == 4 and all(url.startswith("https://storage.googleapis.com/") for _, url in pairs)
