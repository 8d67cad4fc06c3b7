"""`make bench`: starts `loadtest.main` (bench/loadtest/ holds the wrk runner, the rows, the scale filler, the jobs
and the report; docs/benchmarks.md the results and how to read them)."""

from loadtest.main import main

if __name__ == "__main__":
    main()
