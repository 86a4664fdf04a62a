// onnx-buf's schemas for the CommonJS build. onnx-buf is an ES module only, which require()
// cannot load on Node versions without require(esm). Its module is generated code whose one
// piece of data is onnx.proto's serialized descriptor, passed to fileDesc(); everything else
// looks messages and enums up in it. This reads that descriptor from the installed package
// and builds the same exports with @bufbuild/protobuf's CommonJS build, so the dependency is
// used as installed and none of its code is copied into this package.
'use strict';

const { readFileSync } = require('node:fs');
const { enumDesc, fileDesc, messageDesc, tsEnum } = require('@bufbuild/protobuf/codegenv2');

const source = readFileSync(require.resolve('onnx-buf'), 'utf8');
const found = /\bfileDesc\(\s*"([A-Za-z0-9+/=]+)"\s*\)/.exec(source);
if (!found) {
  throw new Error(`tensorrt-node: the installed onnx-buf (${require.resolve('onnx-buf')}) has no descriptor this build can read; reinstall tensorrt-node, or import it as an ES module`);
}
const file = fileDesc(found[1]);

// The generated names: a message or enum nested in others joins the outer names with '_'
// (TensorProto.DataType is TensorProto_DataType); a message's schema adds 'Schema', an enum
// has its schema and its TypeScript-style object.
exports.file_onnx = file;
function addMessages(messages, path) {
  messages.forEach((message, i) => {
    const indexes = [...path, i];
    const name = [...indexes.slice(0, -1).map((_, k) => nameAt(indexes.slice(0, k + 1))), message.name].join('_');
    exports[`${name}Schema`] = messageDesc(file, ...indexes);
    message.nestedEnums.forEach((nested, j) => {
      const schema = enumDesc(file, ...indexes, j);
      exports[`${name}_${nested.name}Schema`] = schema;
      exports[`${name}_${nested.name}`] = tsEnum(schema);
    });
    addMessages(message.nestedMessages, indexes);
  });
}
function nameAt(indexes) {
  let message = file.messages[indexes[0]];
  for (const i of indexes.slice(1)) message = message.nestedMessages[i];
  return message.name;
}
addMessages(file.messages, []);
file.enums.forEach((e, i) => {
  const schema = enumDesc(file, i);
  exports[`${e.name}Schema`] = schema;
  exports[e.name] = tsEnum(schema);
});
