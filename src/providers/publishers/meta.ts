// Shared by the Meta Graph publishers (Facebook, Instagram). Threads has its own host but the same style.
export const META_DEFAULT_GRAPH_BASE_URL = 'https://graph.facebook.com/v21.0';
export const THREADS_DEFAULT_API_BASE_URL = 'https://graph.threads.net/v1.0';
