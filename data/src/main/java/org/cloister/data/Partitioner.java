package org.cloister.data;

import java.util.List;

/** Splits one dataset into per-site partitions (the virtual hospitals of a simulation). */
public interface Partitioner {

  /** Row indices of {@code data} for each of {@code sites} sites; every row goes to exactly one site. */
  List<int[]> partition(Dataset data, int sites, long seed);

  /** Materialized partitions. */
  default List<Dataset> split(Dataset data, int sites, long seed) {
    return partition(data, sites, seed).stream().map(data::subset).toList();
  }
}
