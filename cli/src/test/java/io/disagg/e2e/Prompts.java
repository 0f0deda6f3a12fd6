package io.disagg.e2e;

import java.util.List;

/** Prompts for stories260K, some below and some at or above {@link SharedCluster#THRESHOLD} tokens. */
final class Prompts {
  private Prompts() {}

  static final String SHORT = "The cat sat on the mat.";
  static final String LILY = "Once upon a time there was a little girl named Lily";
  static final String PARK = "Sam and his mom went to the park. They saw a big dog that";
  /** 42 tokens: disaggregated by a threshold of 32, yet with 8 more tokens it fits in 4 blocks of 16. */
  static final String MEDIUM = "Once upon a time, in a big forest, there lived a little bunny named Tom. Tom liked to"
      + " hop and play with his friends.";
  /** 66 tokens, over 32, so the shared cluster's router disaggregates it on its own. */
  static final String LONG = "Once upon a time, in a big forest, there lived a little bunny named Tom. Tom liked to hop"
      + " and play with his friends. One day, Tom saw a big red ball under a tree. He wanted to";

  static List<String> all() {
    return List.of(SHORT, LILY, PARK, LONG);
  }
}
