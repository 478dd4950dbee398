"""Clean a Hugging Face dataset's text column with ``datasets.Dataset.map``.

    python docs/examples/hf_datasets_map.py

Builds a small dataset in memory (no download), cleans it with two worker
processes and prints the result. ``map`` pickles the function with the
Cleaner it closes over; each worker rebuilds it once.
"""

from __future__ import annotations

from datasets import Dataset

from cleaner import Cleaner

cleaner = Cleaner()


def clean_batch(batch: dict[str, list[str]]) -> dict[str, list[str]]:
    return {"text": [cleaner.clean_text(t) for t in batch["text"]]}


def main() -> None:
    page = "A real sentence of the article, long enough to be kept.\n5 min read\nLeave a Reply\nName *\n"
    ds = Dataset.from_dict({"text": [page] * 8, "id": list(range(8))})
    out = ds.map(clean_batch, batched=True, batch_size=4, num_proc=2)
    assert out["text"] == ["A real sentence of the article, long enough to be kept.\n"] * 8
    assert out["id"] == list(range(8))
    print(f"cleaned {len(out)} records; columns kept: {out.column_names}")


if __name__ == "__main__":
    main()
