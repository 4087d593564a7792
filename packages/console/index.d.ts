/** Absolute path of the built console (index.html and assets/), for a server to serve as static files. */
export declare const assetsDir: string;
