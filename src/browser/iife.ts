// The CDN build (`<script>`, the `Sockline` global): the whole browser API, with what an
// app bundle opts into already in: option errors in full and `for await` over messages.
import '../core/opt-in/verbose.js';
import '../core/opt-in/iterate.js';
import '../core/opt-in/handle.js';

export * from './index.js';
