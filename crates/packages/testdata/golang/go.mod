module example.com/shop/api

go 1.19

require (
	github.com/gin-gonic/gin v1.7.0
	github.com/pkg/errors v0.9.1
	example.com/shop/internal v0.0.0-00010101000000-000000000000
	golang.org/x/crypto v0.0.0-20200622213623-75b288015ac9 // indirect
	golang.org/x/net v0.0.0-20210226172049-e18ecbb05110 // indirect
	golang.org/x/text v0.3.2 // indirect
)

require "gopkg.in/yaml.v2" v2.2.2 // indirect

replace example.com/shop/internal => ../internal

replace (
	golang.org/x/net v0.0.0-20210226172049-e18ecbb05110 => golang.org/x/net v0.7.0
)

exclude golang.org/x/text v0.3.1

retract v1.0.1 // published by mistake
