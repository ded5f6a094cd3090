package io.porin.agent.datapath;

/** One policy map entry's verdict and the cookie naming the rules behind it. */
public record PolicyValue(int verdict, int cookie) {}
