.PHONY: demo test bench

demo:   ## set up and run gapbench on the embedded default suite (offline)
	bash scripts/demo.sh

test:   ## set up (venv + PostgreSQL on 127.0.0.1) and run the whole test suite
	bash scripts/test.sh

bench:  ## speed benchmarks against the reference libraries, each printing its ratio
	bash scripts/setup.sh test
	.venv/bin/python benchmarks/score_coco.py
	.venv/bin/python benchmarks/score_wer.py
	.venv/bin/python benchmarks/corruptions.py
	.venv/bin/python benchmarks/audio_shifts.py
