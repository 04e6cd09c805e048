"""The ops console in the browser (`pecflow web`): an entry point like jobs/, whose pages only
read the request, call one use case of pipeline/services and render the answer, in Italian."""
