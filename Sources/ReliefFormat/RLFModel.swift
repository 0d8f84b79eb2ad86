/// A model as the format holds it: metadata and named tensors.
public struct RLFModel: Sendable {
    public var metadata: RLFMetadata
    public var tensors: [RLFTensor]

    public init(metadata: RLFMetadata, tensors: [RLFTensor]) {
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The tensor called `name`, if any.
    public func tensor(named name: String) -> RLFTensor? {
        tensors.first { $0.name == name }
    }
}

/// A model read from a file, with how each part was stored.
public struct RLFFile: Sendable {
    public var header: RLFHeader
    /// Section 0 is the metadata, 1 the directory, `k + 2` tensor `k`.
    public var sections: [RLFSectionEntry]
    public var records: [RLFTensorRecord]
    public var model: RLFModel

    public var metadata: RLFMetadata { model.metadata }
    public var tensors: [RLFTensor] { model.tensors }
}
