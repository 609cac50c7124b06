// Starts @firestore-emulator/server on a loopback gRPC port plus a tiny HTTP control port.
// The control port mirrors the official emulator's reset call:
//   DELETE /emulator/v1/projects/<project>/databases/(default)/documents  -> clears all data.
// Usage: node serve.js <grpc_port> <control_port>
"use strict";
const http = require("node:http");
const { ServerCredentials } = require("@grpc/grpc-js");
const { FirestoreServer } = require("@firestore-emulator/server");

const grpcPort = Number(process.argv[2]);
const controlPort = Number(process.argv[3]);
if (!Number.isInteger(grpcPort) || !Number.isInteger(controlPort)) {
  console.error("usage: node serve.js <grpc_port> <control_port>");
  process.exit(2);
}

const emulator = new FirestoreServer();
// FirestoreServer.start() binds 0.0.0.0; bind the same gRPC server to loopback only.
emulator.server.bindAsync(`127.0.0.1:${grpcPort}`, ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(`gRPC bind failed: ${err.message}`);
    process.exit(1);
  }
  const control = http.createServer((req, res) => {
    if (req.method === "DELETE" && req.url.startsWith("/emulator/v1/projects/")) {
      emulator.state.clear();
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end("{}");
      return;
    }
    res.writeHead(req.method === "GET" ? 200 : 404, { "Content-Type": "text/plain" });
    res.end(req.method === "GET" ? "Ok\n" : "not found\n");
  });
  control.listen(controlPort, "127.0.0.1", () => {
    console.log(`READY grpc=127.0.0.1:${grpcPort} control=127.0.0.1:${controlPort}`);
  });
});

const stop = () => {
  emulator.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
