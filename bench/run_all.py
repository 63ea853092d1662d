"""Run every benchmark in turn (``make bench``); each prints its figures beside its baseline."""
from bench import api_read, lookup, paging, patch_scaling

if __name__ == "__main__":
    for bench in (api_read, patch_scaling, paging, lookup):
        print(f"\n== {bench.__name__}")
        bench.main()
