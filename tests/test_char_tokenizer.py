"""CharTokenizer: ABC text as characters, with JSON save/load through the shared registry."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from musicgen.tokenizers import CharTokenizer, Tokenizer, config_hash, load_tokenizer

TUNE = "X:1\nT:Kesh, The\nM:6/8\nK:G\n|:GAG GAB|ABA ABd|edd gdd|edB dBA:|\n"


def test_vocab_is_specials_then_sorted_corpus_characters():
    tok = CharTokenizer.fit([TUNE, "zz"])
    assert tok.vocab[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert tok.vocab[4:] == sorted(set(TUNE + "z"))
    assert (tok.pad_id, tok.bos_id, tok.eos_id) == (0, 1, 2)
    assert isinstance(tok, Tokenizer)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(sorted(set(TUNE))), max_size=200))
def test_round_trip_of_known_text_with_bos_eos(text: str):
    tok = CharTokenizer.fit([TUNE])
    ids = tok.encode(text)
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id and len(ids) == len(text) + 2
    assert tok.decode(ids) == text


def test_unknown_characters_become_unk_and_decode_drops_specials():
    tok = CharTokenizer.fit([TUNE], add_bos_eos=False)
    ids = tok.encode("G€A")
    assert ids[1] == tok.unk_id and len(ids) == 3
    assert tok.decode(ids) == "GA"
    assert tok.decode([tok.pad_id, 10**6, -3, *ids]) == "GA"


def test_json_save_load_gives_the_same_tokenizer(tmp_path):
    tok = CharTokenizer.fit([TUNE, "é\t"], add_bos_eos=False)
    tok.save(tmp_path / "char.json")
    again = load_tokenizer(tmp_path / "char.json")
    assert isinstance(again, CharTokenizer) and CharTokenizer.load(tmp_path / "char.json")
    assert again.vocab == tok.vocab and again.encode(TUNE) == tok.encode(TUNE)
    assert config_hash(again) == config_hash(tok)
    assert config_hash(CharTokenizer.fit([TUNE])) != config_hash(tok)
