package io.disagg.loadtest.internal;

/**
 * A server under test, reached over one protocol. {@link #send} must return at once; progress comes back through
 * the observer, from any thread, ending in exactly one {@code onDone} or {@code onError}.
 */
public interface Target extends AutoCloseable {

    /** A prompt as text or as token ids; exactly one is non-null. */
    record Prompt(String text, int[] tokenIds) {
        public Prompt {
            if ((text == null) == (tokenIds == null)) {
                throw new IllegalArgumentException("prompt: (expected: exactly one of text and token ids)");
            }
        }
    }

    /** Receives one request's progress. */
    interface Observer {
        /** A chunk with {@code count} tokens (SSE chunks with text count as one) arrived. */
        void onTokens(int count);

        /**
         * The request finished; token counts come from the server's usage. {@code cachedPromptTokens} is the part of
         * the prompt whose KV came from a prefix cache (0 when the server reports none).
         */
        void onDone(int promptTokens, int outputTokens, int cachedPromptTokens);

        /** The request failed; {@code type} groups errors in the report (gRPC code, {@code HTTP 503}, ...). */
        void onError(String type);
    }

    /** Starts a streaming generation of at most {@code maxTokens}; the returned handle cancels it. */
    Runnable send(Prompt prompt, int maxTokens, Observer observer);

    /** Vocabulary size for token-id prompts. */
    int vocabSize();

    @Override
    void close();
}
