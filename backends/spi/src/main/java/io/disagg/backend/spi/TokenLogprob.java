package io.disagg.backend.spi;

/** A token and its log-probability (natural log) under the distribution it was sampled from. */
public record TokenLogprob(int tokenId, float logprob) {}
