import Hummingbird

/// An error a route answers with a plain-text body: the status and a message that says what
/// was wrong and what to send instead.
struct RouteError: HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String

    static func badRequest(_ message: String) -> RouteError {
        RouteError(status: .badRequest, message: message)
    }

    static let shuttingDown = RouteError(
        status: .serviceUnavailable, message: "the server is shutting down: retry on another instance")

    func response(from request: Request, context: some RequestContext) throws -> Response {
        textResponse(status, message)
    }
}

/// A `text/plain` response whose body is `text` and a newline.
func textResponse(_ status: HTTPResponse.Status, _ text: String) -> Response {
    let body = ByteBuffer(string: text + "\n")
    return Response(
        status: status,
        headers: [.contentType: "text/plain; charset=utf-8", .contentLength: String(body.readableBytes)],
        body: ResponseBody(byteBuffer: body)
    )
}

/// The integer query parameter `name` of `request`, which must lie in `range`.
/// - Throws: a 400 ``RouteError`` naming the parameter when it is missing, not an integer, or
///   out of range.
func integerQuery(_ request: Request, _ name: String, in range: ClosedRange<Int>) throws -> Int {
    guard let text = request.uri.queryParameters.get(name) else {
        throw RouteError.badRequest("missing query parameter \(name): an integer in \(range)")
    }
    return try integer(text, named: name, in: range)
}

/// `text` as an integer in `range`.
/// - Throws: a 400 ``RouteError`` naming `name` when `text` is not an integer or is out of range.
func integer(_ text: String, named name: String, in range: ClosedRange<Int>) throws -> Int {
    guard let value = Int(text) else {
        throw RouteError.badRequest("\(name) must be an integer in \(range), got \"\(text)\"")
    }
    guard range.contains(value) else {
        throw RouteError.badRequest("\(name) must be in \(range), got \(value)")
    }
    return value
}
