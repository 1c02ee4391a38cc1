#!/usr/bin/env python3
"""The peer of the ingest benchmark: Polars counts what `contacto ingest` counts for one state,
on the uncompressed national CSV, with its default thread pool.

Per municipio of residence (ENTIDAD_RES = the state): confirmados (CLASIFICACION_FINAL 1-3),
sospechosos (6), descartados (7), defunciones (confirmed with FECHA_DEF set). Prints one line
with the state's totals, to set beside `contacto`'s figures by residence.

usage: bench/agg_polars.py FILE.csv [STATE]   (STATE defaults to 11, Guanajuato; needs polars)
"""
import sys

import polars as pl


def counts(path, state):
    final = pl.col("CLASIFICACION_FINAL")
    confirmed = final.is_between(1, 3)
    return (
        pl.scan_csv(path, schema_overrides={"FECHA_DEF": pl.Utf8})
        .filter(pl.col("ENTIDAD_RES") == state)
        .group_by("MUNICIPIO_RES")
        .agg(
            confirmed.sum().alias("confirmados"),
            (final == 6).sum().alias("sospechosos"),
            (final == 7).sum().alias("descartados"),
            (confirmed & (pl.col("FECHA_DEF") != "9999-99-99")).sum().alias("defunciones"),
        )
        .sort("MUNICIPIO_RES")
        .collect()
    )


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.strip().splitlines()[-1])
    state = int(sys.argv[2]) if len(sys.argv) == 3 else 11
    table = counts(sys.argv[1], state)
    totals = table.drop("MUNICIPIO_RES").sum().row(0, named=True)
    print(f"polars threads={pl.thread_pool_size()} municipios={table.height} state {state}: {totals}")


if __name__ == "__main__":
    main()
