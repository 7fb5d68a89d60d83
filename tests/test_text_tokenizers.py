"""Word, BPE and char tokenizers of text: round trips, unknown words, options, serialisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicgen.tokenizers import (
    BPETokenizer,
    CharTokenizer,
    WordTokenizer,
    config_hash,
    fit_tokenizer,
    load_tokenizer,
    tokenizer_from_dict,
)

TEXT = " = Robert Boulter = \n\n Robert Boulter is an English film and television actor . \n"
# Text a byte-level BPE has never seen: accents, CJK, emoji, tabs, CR, runs of spaces.
UNICODE = "Ça va ?\n日本語のテキスト 🎵🎶\r\n\ttabs\tand  two  spaces \n\n\nno final newline"


@pytest.fixture(scope="module")
def wikitext_train(shared_data: Path) -> str:
    return (shared_data / "text" / "wikitext-2" / "train.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def small_bpe(wikitext_train: str) -> BPETokenizer:
    lines = wikitext_train.split("\n")[:2000]
    return BPETokenizer.fit(["\n".join(lines)], vocab_size=1000)


def test_word_round_trip_gives_the_tokenized_text_with_one_eos_per_line():
    tok = WordTokenizer.fit([TEXT])
    ids = tok.encode(TEXT)
    assert ids.count(tok.eos_id) == 3  # two text lines and one blank line
    assert tok.decode(ids) == "= Robert Boulter =\n\nRobert Boulter is an English film and" + (
        " television actor .\n"
    )
    # a final newline adds no empty line; a text without one still ends its last line
    a, b, c = (tok.encode(w)[0] for w in ("Robert", "Boulter", "actor"))
    assert tok.encode("Robert Boulter\nactor") == [a, b, tok.eos_id, c, tok.eos_id]
    assert tok.encode("Robert Boulter\nactor\n") == tok.encode("Robert Boulter\nactor")


def test_word_vocabulary_is_specials_then_words_by_frequency_and_first_appearance():
    tok = WordTokenizer.fit(["d a c a\n", "c a b\n"])  # b and d tie: d came first
    assert tok.vocab == ["<unk>", "<eos>", "a", "c", "d", "b"]
    assert tok.pad_id == tok.bos_id == tok.eos_id == 1 and tok.unk_id == 0


def test_unseen_words_encode_as_unk_and_decode_as_unk():
    tok = WordTokenizer.fit(["the cat sat <unk> on the mat\n"])
    assert "<unk>" not in tok.vocab[2:]  # the literal word is the special, not a new word
    ids = tok.encode("the zebra sat <unk>")
    assert ids == [tok.encode("the")[0], tok.unk_id, tok.encode("sat")[0], tok.unk_id, 1]
    assert tok.decode(ids) == "the <unk> sat <unk>\n"


def test_min_freq_max_size_and_lower_shape_the_vocabulary():
    text = "The the THE the cat cat dog\n"
    assert WordTokenizer.fit([text], min_freq=2).vocab == ["<unk>", "<eos>", "the", "cat"]
    assert WordTokenizer.fit([text], max_size=3).vocab == ["<unk>", "<eos>", "the"]
    lower = WordTokenizer.fit([text], lower=True)
    assert lower.vocab == ["<unk>", "<eos>", "the", "cat", "dog"]
    assert lower.encode("THE Cat") == lower.encode("the cat")
    with pytest.raises(ValueError, match="min_freq"):
        WordTokenizer.fit([text], min_freq=0)


def test_punctuation_split_separates_words_from_punctuation_marks():
    tok = WordTokenizer.fit(["Hello, world! It's fine.\n"], split="punctuation")
    assert tok.decode(tok.encode("Hello, world!")) == "Hello , world !\n"
    assert "<unk>" not in tok.decode(tok.encode("It's fine."))
    # the default whitespace split keeps them glued: "world!" is one unseen word
    plain = WordTokenizer.fit(["Hello, world\n"])
    assert plain.decode(plain.encode("Hello, world!")) == "Hello, <unk>\n"


def test_wikitext2_train_gives_the_standard_33278_word_vocabulary(wikitext_train):
    tok = fit_tokenizer({"type": "word"}, [wikitext_train])
    assert tok.vocab_size == len(tok.vocab) == 33278
    assert tok.vocab[:4] == ["<unk>", "<eos>", "the", ","]
    assert len(tok.encode(wikitext_train)) == 2088628  # words plus one <eos> per line


@pytest.mark.parametrize("text", [UNICODE, "", "\n", "one line", "a\n\nb\n", "<unk> <eos><pad>"])
def test_bpe_decode_of_encode_is_the_exact_text(small_bpe, text):
    ids = small_bpe.encode(text)
    assert small_bpe.decode(ids) == text
    assert ids.count(small_bpe.eos_id) == text.count("\n")  # <eos> stands for a newline
    assert small_bpe.unk_id not in ids  # bytes cover everything; "<unk>" written is text


def test_bpe_has_the_four_specials_first_and_the_vocab_size_asked_for(small_bpe):
    assert small_bpe.vocab[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert small_bpe.vocab_size == len(small_bpe.vocab) == 1000
    # merges make common words single tokens: fewer ids than bytes
    assert len(small_bpe.encode(" the history of the game")) < 10
    with pytest.raises(ValueError, match="at least 260"):
        BPETokenizer.fit(["abc"], vocab_size=100)


def test_char_tokenizer_fitted_on_text_keeps_newlines_and_unicode():
    text = "Ça va ?\n日本 🎵\n"
    tok = fit_tokenizer({"type": "char", "add_bos_eos": False}, [text])
    assert tok.decode(tok.encode(text)) == text
    assert len(tok.encode(text)) == len(text)  # one id per character, no <bos>/<eos>


def test_tokenizers_survive_save_load_and_from_dict(tmp_path, small_bpe):
    word = WordTokenizer.fit([TEXT], split="punctuation", lower=True)
    char = CharTokenizer.fit([UNICODE], add_bos_eos=False)
    for tok in (word, small_bpe, char):
        path = tmp_path / f"{type(tok).__name__}.json"
        tok.save(path)
        rebuilt = (type(tok).load(path), load_tokenizer(path), tokenizer_from_dict(tok.to_dict()))
        for again in rebuilt:
            assert type(again) is type(tok)
            assert again.vocab == tok.vocab
            assert again.encode(UNICODE) == tok.encode(UNICODE)
            assert config_hash(again) == config_hash(tok)


def test_options_change_the_cache_key():
    assert config_hash(WordTokenizer.fit([TEXT])) != config_hash(
        WordTokenizer.fit([TEXT], lower=True)
    )


def test_bad_specs_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="needs a type among bpe, char, word"):
        fit_tokenizer({"type": "note"}, ["x"])
    with pytest.raises(ValueError, match="no option min_frq"):
        fit_tokenizer({"type": "word", "min_frq": 2}, ["x"])
    with pytest.raises(ValueError, match="split must be one of"):
        WordTokenizer.fit(["x"], split="commas")
