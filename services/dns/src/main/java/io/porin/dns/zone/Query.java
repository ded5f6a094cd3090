package io.porin.dns.zone;

import java.util.List;

/**
 * A query as the resolver sees it: its opcode and questions. The wire layer makes one from every
 * message it can read, however wrong, so that the resolver decides every error code.
 *
 * @param opcode 0 for a standard query
 * @param questions the question section, normally exactly one
 */
public record Query(int opcode, List<Question> questions) {
  /** The standard query opcode (RFC 1035). */
  public static final int QUERY = 0;

  public Query {
    questions = List.copyOf(questions);
  }

  /** A standard query with one question. */
  public static Query of(String name, int type) {
    return new Query(QUERY, List.of(Question.in(name, type)));
  }
}
