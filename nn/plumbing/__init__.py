"""The plumbing a learner can skip: one-line errors and argument checks (cli, errors), safe files
(files: atomic writes, special files, locks), where things live (paths), and what the machine can
spare (machine). Each defence is written once, here."""
