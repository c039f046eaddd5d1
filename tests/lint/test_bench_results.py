"""bench.py's merge of a BENCH_ONLY run into a stored run (bench/results/pgN.tsv): the
sections that ran replace theirs, the others are kept, and each says which run measured it.
Run by make test's lint (no database)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import bench  # noqa: E402

OLD = {"run.pgv": "15", "run.date": "2026-12-01", "run.commit": "aaaaaaa", "run.sections": "isolation migrate",
       "fleet.create_s": "20.0",
       "isolation.ratio.a": "1.5", "isolation.gone_in_new": "7",
       "migrate_all.ratio": "1.4", "settings.x": "old"}
NEW = {"run.pgv": "15", "run.date": "2026-12-08", "run.commit": "bbbbbbb", "run.sections": "isolation",
       "fleet.create_s": "21.0",
       "isolation.ratio.a": "1.1", "settings.x": "new"}


def main():
    failures = []

    def check(what, got, want):
        if got != want:
            failures.append(f"{what}: got {got!r}, want {want!r}")

    m = bench.merge_results(OLD, NEW, ["isolation"])
    check("the section that ran comes from the new run", m.get("isolation.ratio.a"), "1.1")
    check("its rows the new run lacks are gone", "isolation.gone_in_new" in m, False)
    check("a section that did not run is kept", m.get("migrate_all.ratio"), "1.4")
    check("the run's own rows are the new run's", (m.get("fleet.create_s"), m.get("settings.x")), ("21.0", "new"))
    check("provenance of the kept section", m.get("run.by.migrate"), "2026-12-01, commit aaaaaaa")
    check("provenance of the section that ran", m.get("run.by.isolation"), "2026-12-08, commit bbbbbbb")
    check("run.sections lists both, in section order", m.get("run.sections"), "isolation migrate")
    check("run.commit names each run",
          m.get("run.commit"), "isolation: 2026-12-08, commit bbbbbbb; migrate: 2026-12-01, commit aaaaaaa")
    # a second merge keeps the provenance the first one recorded
    m2 = bench.merge_results(m, {**NEW, "run.date": "2026-12-09", "run.commit": "ccccccc",
                                 "migrate_all.ratio": "1.9"}, ["migrate"])
    check("second merge: isolation keeps its run", m2.get("run.by.isolation"), "2026-12-08, commit bbbbbbb")
    check("second merge: migrate from the newest run", (m2.get("migrate_all.ratio"), m2.get("run.by.migrate")),
          ("1.9", "2026-12-09, commit ccccccc"))
    check("second merge: isolation rows kept", m2.get("isolation.ratio.a"), "1.1")
    for f in failures:
        print("FAIL", f)
    print(f"bench results merge: {11 - len(failures)} of 11 checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
